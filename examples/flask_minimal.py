"""An ordinary Flask app wrapped with the WSGI consent middleware.

flask --app examples.flask_minimal run
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, render_template_string, request

from consent_middleware import ConsentPolicy, ConsentWSGIMiddleware, get_context

app = Flask(__name__)
app.wsgi_app = ConsentWSGIMiddleware(  # type: ignore[method-assign]
    app.wsgi_app,
    policy=ConsentPolicy.default(),
    secret_keys=[os.environ.get("CONSENT_SECRET_KEY") or secrets.token_urlsafe(48)],
    secure=False,  # plain HTTP in development; keep the default True in production
)


@app.route("/")
def home() -> str:
    ctx = get_context(request)
    return render_template_string(
        '<p>Mode: {{ mode }}</p><p><a href="/consent?next=/">Privacy choices</a></p>',
        mode=ctx.mode.value,
    )
