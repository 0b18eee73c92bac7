# Timing and power of mapped ASAP7 netlists (diffuse-dse asap7 flow: scripts/sta.tcl).
# The flow writes sta_vars.tcl beside this script: libs, netlist, tops, clock_ps, activities, drive_cell.
source [file join [file dirname [info script]] sta_vars.tcl]
foreach lib $libs { read_liberty $lib }
foreach top $tops {
  # link_design consumes the Verilog it links: read it again for every top
  read_verilog $netlist
  link_design $top
  create_clock -name clk -period $clock_ps [get_ports clk]
  set ins [delete_from_list [all_inputs] [get_ports clk]]
  # ports behave as ideal registers of the surrounding design; mode and reset are static
  set_input_delay 0 -clock clk $ins
  set_output_delay 0 -clock clk [all_outputs]
  set_driving_cell -lib_cell $drive_cell -pin Y $ins
  foreach p {rst ws} { if {[llength [get_ports -quiet $p]]} { set_false_path -from [get_ports $p] } }
  report_checks -path_delay max -digits 1 > $top.timing.rpt
  puts "QOR $top wns_ps [worst_slack -max]"
  puts "QOR $top cells [llength [get_cells -hierarchical *]]"
  foreach a $activities {
    set_power_activity -global -activity $a
    report_power -digits 6 > $top.power.$a.rpt
    # design_power: internal, switching, leakage, total (W) of the whole design
    set p [sta::design_power [sta::cmd_corner]]
    puts "QOR $top power_w@$a [lindex $p 3]"
    puts "QOR $top leakage_w@$a [lindex $p 2]"
  }
}
