"""serve_app."""
