// gem_tile_h: one tile between registers on all its inputs and outputs, so that its
// register-to-register paths are the mesh's; the unit the hierarchical flow maps and times.
module gem_tile_h (input clk, input rst, input ws, input preload, input h_last,
  input [${TR}*${IB}-1:0] h_in_a, input [${TC}*${BW}-1:0] h_in_b, input [${TC}*${DW}-1:0] h_in_d,
  output reg [${TR}*${IB}-1:0] h_out_a, output reg h_out_last,
  output reg [${TC}*${BW}-1:0] h_out_b, output reg [${TC}*${DW}-1:0] h_out_d);
  reg r_last;
  reg [${TR}*${IB}-1:0] r_in_a;
  reg [${TC}*${BW}-1:0] r_in_b;
  reg [${TC}*${DW}-1:0] r_in_d;
  wire t_out_last;
  wire [${TR}*${IB}-1:0] t_out_a;
  wire [${TC}*${BW}-1:0] t_out_b;
  wire [${TC}*${DW}-1:0] t_out_d;
  always @(posedge clk) begin
    r_last <= h_last; r_in_a <= h_in_a; r_in_b <= h_in_b; r_in_d <= h_in_d;
    h_out_last <= t_out_last; h_out_a <= t_out_a; h_out_b <= t_out_b; h_out_d <= t_out_d;
  end
  gem_tile u_tile (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(r_last),
    .in_a(r_in_a), .in_b(r_in_b), .in_d(r_in_d),
    .out_a(t_out_a), .out_last(t_out_last), .out_b(t_out_b), .out_d(t_out_d));
endmodule
