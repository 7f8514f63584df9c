"""homeval: predict US house prices from Realtor.com listings, end to end."""

__version__ = "0.1.0"
