"""Speech behind the HTTP surface: request models, the work a Speech replica does, and the
service's default voice."""
