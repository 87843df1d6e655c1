# /etc/portcullis/config.boot: the appliance's configuration, Vyatta 5600 or VyOS commands
# (`set ...`), loaded by vpnd at start and written back by `save` in `vpnctl configure`.
# Empty: configure with `vpnctl configure`, or paste a configuration here and run
# `systemctl reload vpnd`. Examples: @EXAMPLES@.
