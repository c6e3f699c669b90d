"""The REST API: configs and the layer-class catalogue over HTTP (Django REST Framework)."""
