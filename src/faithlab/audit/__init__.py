"""`faithlab audit`: fit a faithfulness benchmark of a user's own model and data into a time budget."""
