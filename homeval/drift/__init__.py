"""Has the market moved? The drift check, its report and verdict, and serving drift."""
