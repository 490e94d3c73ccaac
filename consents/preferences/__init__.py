"""Pages where people manage their own choices: cookies, marketing, US privacy choices."""
