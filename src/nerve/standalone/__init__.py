"""The entry point of a ``nerve build`` executable: encoderfile's verbs over the embedded model.

``main`` (``nerve.standalone.main``) parses ``serve`` / ``infer`` / ``mcp`` / ``inspect`` /
``--version``; each verb is a small module here that calls nerve's server, engine or MCP
functions. The model is the directory PyInstaller unpacks next to the code (``embedded``).
"""
