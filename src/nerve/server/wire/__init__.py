"""Wire schemas ↔ domain types, one module per protocol.

Everything that knows a JSON or protobuf field name lives here: parsing a request into
``(texts, InferenceOptions)`` and rendering ``TextResult``s back. Routes and the gRPC servicer
only move bytes and call the service.
"""
