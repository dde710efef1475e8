"""The web adapters (ASGI, WSGI) and the consent endpoints they share."""
