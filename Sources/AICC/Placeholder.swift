enum PlaceholderAICC {}
