"""Authentication at the edge: API keys per tenant, scoped tokens for browsers, the principal
of each request (see docs/decisions.md "Tenants and keys")."""
