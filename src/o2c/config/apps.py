from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "o2c.config"
    label = "o2c_config"
