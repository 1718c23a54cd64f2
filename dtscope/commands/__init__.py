"""One module per `dtscope` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
