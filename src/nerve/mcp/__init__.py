"""``nerve mcp``: an MCP server with one tool, ``extract_entities``, over stdio or Streamable
HTTP (``/mcp``, port 9100 like encoderfile).

``settings`` is importable without the SDK; ``server`` and ``tool`` need the ``mcp`` extra
(the official SDK) and the ``server`` extra.
"""
