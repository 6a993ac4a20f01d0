// placeholder: the dashboard entry point
