"""Has the market moved? ``compare`` (statistics on two frames), ``report`` (the page, the
verdict in words, reading a report back) and ``check`` (what is compared, and the decision)."""
