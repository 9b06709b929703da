"""``nerve serve``: HTTP (Baseten- and encoderfile-compatible, plus nerve's own API) and gRPC
(encoderfile-compatible) over one engine, with request merging under a token budget.

Layout: ``config`` (settings) → ``service`` (the one inference interface) over ``scheduler``
(admission + the model worker); ``wire/*`` (protocol schemas ↔ nerve types); ``http/*`` and
``grpc_*`` (thin transports); ``errors`` (the one code → status table); ``metrics``;
``runner`` (both transports in one loop, graceful shutdown). Needs the ``server`` extra.
"""
