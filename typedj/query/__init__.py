"""The query algebra: expression tree, conditions, SQL compiler, fetch and result formats."""
