"""The services: plain Python, first argument `ctx` (context.Context); no Textual, no Rich."""
