"""What happens to the mirror: webhook deliveries, lead activity and sync runs."""
