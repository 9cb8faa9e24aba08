"""Help-center knowledge: ingestion, retrieval, grounded answers and categorization."""
