"""A django-oscar 4.2 shop, Oscar's code unchanged, with the consent middleware around it.

``python -m examples.oscar_shop [--port 8000] [--data DIR]`` prepares the shop (database,
catalogue, search index) under ``DIR`` and serves it with uvicorn; see README.md.
"""
