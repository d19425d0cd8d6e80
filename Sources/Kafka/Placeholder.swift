enum PlaceholderKafka {}
