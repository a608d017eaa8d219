"""What every layer shares and nothing of bene_tui below it: errors, settings, paths, the clock, translations."""
