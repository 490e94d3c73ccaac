-- A plain GET; counts non-2xx answers like the other scripts (wrk reports them).
wrk.method = "GET"
