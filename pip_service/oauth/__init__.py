"""OAuth connect flows (authorization code + PKCE), token storage and refresh, presets."""
