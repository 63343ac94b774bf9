"""The hub core: settings, authentication, the access policy and log, and the use cases."""
