"""Drawing a study: its trials as a table, the plots, report.html and the Optuna export."""
