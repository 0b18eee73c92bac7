// gem_pe, weight-stationary: w is loaded from the d chain on `preload`; the partial sum from
// above gains in_a·w on its way down.
module gem_pe (input clk, input rst, input ws, input preload, input last,
  input [${IB}-1:0] in_a, input [${BW}-1:0] in_b, input [${DW}-1:0] in_d,
  output [${BW}-1:0] out_b, output [${DW}-1:0] out_d);
  reg [${IB}-1:0] w;
  wire signed [2*${IB}-1:0] prod = $signed(in_a) * $signed(w);
  wire signed [${AB}-1:0] prod_x = prod;
  assign out_b = in_b + prod_x;
  assign out_d = w;
  always @(posedge clk)
    if (rst) w <= 0;
    else if (preload) w <= in_d;
endmodule
