"""The control room's window: REST API, websocket hub and the page."""
