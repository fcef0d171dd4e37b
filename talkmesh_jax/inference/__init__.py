"""Using a trained run: opening it (runs), the Predictor's windows, streaming, export to every
format, and evaluation. Never imports the training package."""
