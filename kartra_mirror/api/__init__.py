"""What every read-only API endpoint of the mirror shares: paging, permissions, the base
viewset and serializer, and filter building blocks. Each app's ``api/`` package declares
its endpoints on top of these."""
