enum PlaceholderSim {}
