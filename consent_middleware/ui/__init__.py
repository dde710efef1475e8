"""The user interface: Jinja2 helpers and the templates of every page the shopper sees."""
