"""snaketune: Ludwig-style declarative hyperparameter optimization as a Snakemake workflow."""

__version__ = "0.1.0"
