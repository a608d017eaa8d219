"""The UI layer: Textual and Rich live here and nowhere else (the app, its modes, screens and widgets)."""
