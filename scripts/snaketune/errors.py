"""The errors a user sees.

Every message is meant to be printed alone, as one paragraph, without a
traceback: it names the key path, the value and what is allowed.
"""


class ConfigError(ValueError):
    """A study or model config (or a dataset header) that cannot run as written."""


class DataError(ValueError):
    """A dataset whose content cannot be used (found by the prepare step)."""


class NotSupportedError(ConfigError):
    """A valid Ludwig setting that snaketune does not implement yet."""
