// placeholder: the Campaign tab
