"""CAS 3.0 server for suppliers: service tickets for registered services, pairwise users."""
