"""The transaction user: registrar, routing, legs, the B2BUA bridge, call records."""
