"""HTTP routers, dependencies and the error mapping."""
