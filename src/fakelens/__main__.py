from fakelens.cli import main

main()
