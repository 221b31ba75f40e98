"""Auto-populate: make() in transactions, the jobs table, workers and executors."""
