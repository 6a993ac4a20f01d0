// placeholder: the Users tab
