"""An ordinary Flask storefront, wrapped with the WSGI consent middleware."""
