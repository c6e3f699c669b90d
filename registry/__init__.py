"""A registry of large-language-model architecture configurations."""
