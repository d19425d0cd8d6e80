enum PlaceholderCore {}
