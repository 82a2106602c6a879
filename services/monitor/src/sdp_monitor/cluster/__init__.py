"""What the monitor asks and tells the workers and the broker, and the series it samples."""
