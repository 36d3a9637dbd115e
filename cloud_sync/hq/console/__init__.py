"""The headquarters console: pages for people (merchandising, marketing, operations) served
by ``o2o-hq`` at ``/console``, with accounts, roles and session cookies of its own."""
